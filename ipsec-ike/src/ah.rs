//! AH (RFC 4302) for IPv4, transport and tunnel mode, into caller buffers.
//!
//! ```text
//!  | Next Header | Payload Len | RESERVED (2) |  SPI (4)  |  Sequence Number (4)  |  ICV ... |
//!  Payload Len = AH length in 32-bit words minus 2; the ICV is padded to a multiple of 4.
//! ```
//!
//! The ICV covers the IP header with its mutable fields zeroed (RFC 4302 3.3.3.1.1.1: DSCP/ECN,
//! flags and fragment offset, TTL, header checksum; seed L1096), the AH header with the ICV
//! field zeroed, the payload, and with ESN the high 32 bits of the sequence number. IPv4
//! headers with options are refused (every option would need its own mutability rule).
//! AH cannot traverse NAT (L1313): there is no UDP encapsulation.

use rand_core::CryptoRngCore;
use zeroize::Zeroizing;

use crate::crypto::Integ;
use crate::error::CryptoError;
use crate::esp::{ipv4_fix_checksum, EspDrop, EspError, SaCounters};
use crate::replay::ReplayWindow;

/// IP protocol number of AH.
pub const PROTO_AH: u8 = 51;

/// One AH SA.
pub struct AhSa {
    spi: u32,
    integ: Integ,
    key: Zeroizing<Vec<u8>>,
    esn: bool,
    seq: u64,
    replay: ReplayWindow,
    /// Tunnel endpoints (source, destination) for tunnel mode; `None` = transport.
    pub tunnel: Option<([u8; 4], [u8; 4])>,
    /// Counters.
    pub counters: SaCounters,
}

impl core::fmt::Debug for AhSa {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "AhSa(spi={:#010x}, {:?})", self.spi, self.integ)
    }
}

fn icv_field_len(integ: Integ) -> usize {
    integ.icv_len().div_ceil(4) * 4
}

impl AhSa {
    /// An SA; the RNG is unused today (AH has no IV) but keeps the constructor shape of
    /// [`crate::esp::EspSa::new`].
    pub fn new(
        spi: u32,
        integ: Integ,
        key: &[u8],
        esn: bool,
        window: u32,
        _rng: &mut dyn CryptoRngCore,
    ) -> Result<AhSa, CryptoError> {
        if key.len() != integ.key_len() {
            return Err(CryptoError::BadKeyLength(key.len()));
        }
        Ok(AhSa {
            spi,
            integ,
            key: Zeroizing::new(key.to_vec()),
            esn,
            seq: 0,
            replay: ReplayWindow::new(window, esn),
            tunnel: None,
            counters: SaCounters::default(),
        })
    }

    /// AH header length with its ICV.
    pub fn header_len(&self) -> usize {
        12 + icv_field_len(self.integ)
    }

    fn icv(&self, ip: &[u8], ah_at: usize, total: usize, seq_hi: u32, out: &mut [u8]) {
        let mut hdr = [0u8; 20];
        hdr.copy_from_slice(&ip[..20]);
        hdr[1] = 0; // DSCP/ECN
        hdr[6] = 0; // flags, fragment offset
        hdr[7] = 0;
        hdr[8] = 0; // TTL
        hdr[10] = 0; // checksum
        hdr[11] = 0;
        let mut ah = [0u8; 12];
        ah.copy_from_slice(&ip[ah_at..ah_at + 12]);
        let zeros = [0u8; 32];
        let icvl = icv_field_len(self.integ);
        let rest = &ip[ah_at + 12 + icvl..total];
        let hi = seq_hi.to_be_bytes();
        let mut parts: Vec<&[u8]> = vec![&hdr, &ah, &zeros[..icvl], rest];
        if self.esn {
            parts.push(&hi);
        }
        self.integ.compute_into(&self.key, &parts, out);
    }

    /// Protect an IPv4 packet into `out`; returns the length.
    pub fn encapsulate(&mut self, ip: &[u8], out: &mut [u8]) -> Result<usize, EspError> {
        if ip.len() < 20 || ip[0] != 0x45 {
            return Err(EspError::Crypto(CryptoError::BadLength(ip.len())));
        }
        let ahl = self.header_len();
        let (outer, next, payload): ([u8; 20], u8, &[u8]) = match self.tunnel {
            Some((s, d)) => {
                let mut h = [0u8; 20];
                h[0] = 0x45;
                h[8] = 64;
                h[12..16].copy_from_slice(&s);
                h[16..20].copy_from_slice(&d);
                (h, 4, ip)
            }
            None => {
                let mut h = [0u8; 20];
                h.copy_from_slice(&ip[..20]);
                (h, ip[9], &ip[20..])
            }
        };
        let total = 20 + ahl + payload.len();
        if out.len() < total {
            return Err(EspError::BufferTooSmall {
                need: total,
                have: out.len(),
            });
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
        out[..20].copy_from_slice(&outer);
        out[2..4].copy_from_slice(&(total as u16).to_be_bytes());
        out[9] = PROTO_AH;
        out[20] = next;
        out[21] = (ahl / 4 - 2) as u8;
        out[22] = 0;
        out[23] = 0;
        out[24..28].copy_from_slice(&self.spi.to_be_bytes());
        out[28..32].copy_from_slice(&(self.seq as u32).to_be_bytes());
        for b in &mut out[32..20 + ahl] {
            *b = 0;
        }
        out[20 + ahl..total].copy_from_slice(payload);
        let mut icv = [0u8; 32];
        let n = self.integ.icv_len();
        self.icv(out, 20, total, (self.seq >> 32) as u32, &mut icv[..n]);
        out[32..32 + n].copy_from_slice(&icv[..n]);
        ipv4_fix_checksum(&mut out[..20]);
        self.counters.packets += 1;
        self.counters.bytes += payload.len() as u64;
        Ok(total)
    }

    /// Verify an IPv4 packet with protocol 51 in place; returns the recovered packet (the
    /// inner packet in tunnel mode; in transport mode the original packet, rebuilt in place
    /// at the start of the buffer).
    pub fn decapsulate_in_place(
        &mut self,
        ip: &mut [u8],
    ) -> Result<std::ops::Range<usize>, EspDrop> {
        let ahl = self.header_len();
        if ip.len() < 20 + ahl || ip[0] != 0x45 || ip[9] != PROTO_AH {
            self.counters.malformed_drops += 1;
            return Err(EspDrop::Malformed);
        }
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        if total > ip.len() || total < 20 + ahl || usize::from(ip[21]) != ahl / 4 - 2 {
            self.counters.malformed_drops += 1;
            return Err(EspDrop::Malformed);
        }
        let seq = self
            .replay
            .infer(u32::from_be_bytes([ip[28], ip[29], ip[30], ip[31]]));
        if !self.replay.check(seq) {
            self.counters.replay_drops += 1;
            return Err(EspDrop::Replay);
        }
        let n = self.integ.icv_len();
        let mut want = [0u8; 32];
        self.icv(ip, 20, total, (seq >> 32) as u32, &mut want[..n]);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&want[..n], &ip[32..32 + n])) {
            self.counters.integrity_drops += 1;
            return Err(EspDrop::IntegrityFailed);
        }
        self.replay.accept(seq);
        let next = ip[20];
        let plen = total - 20 - ahl;
        self.counters.packets += 1;
        self.counters.bytes += plen as u64;
        if self.tunnel.is_some() || next == 4 {
            return Ok(20 + ahl..total);
        }
        ip.copy_within(20 + ahl..total, 20);
        let len = 20 + plen;
        ip[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        ip[9] = next;
        ipv4_fix_checksum(&mut ip[..20]);
        Ok(0..len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;

    fn pkt() -> Vec<u8> {
        let mut p = vec![0u8; 60];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&60u16.to_be_bytes());
        p[8] = 64;
        p[9] = 17;
        p[12..16].copy_from_slice(&[192, 0, 2, 1]);
        p[16..20].copy_from_slice(&[192, 0, 2, 2]);
        ipv4_fix_checksum(&mut p[..20]);
        p
    }

    #[test]
    fn transport_and_tunnel_round_trip_mutable_fields_and_tamper() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        for integ in [
            Integ::HmacSha1_96,
            Integ::HmacSha256_128,
            Integ::HmacSha512_256,
            Integ::AesXcbc96,
        ] {
            for tunnel in [false, true] {
                for esn in [false, true] {
                    let key = vec![5u8; integ.key_len()];
                    let mut tx = AhSa::new(7, integ, &key, esn, 64, &mut rng).unwrap();
                    let mut rx = AhSa::new(7, integ, &key, esn, 64, &mut rng).unwrap();
                    if tunnel {
                        tx.tunnel = Some(([198, 51, 100, 1], [198, 51, 100, 2]));
                        rx.tunnel = tx.tunnel;
                    }
                    let p = pkt();
                    let mut out = vec![0u8; 200];
                    let n = tx.encapsulate(&p, &mut out).unwrap();
                    let mut got = out[..n].to_vec();
                    // A router on the way decrements the TTL: still valid (mutable field).
                    got[8] -= 1;
                    ipv4_fix_checksum(&mut got[..20]);
                    let r = rx.decapsulate_in_place(&mut got).unwrap();
                    let inner = &got[r];
                    if tunnel {
                        assert_eq!(inner, &p[..]);
                    } else {
                        assert_eq!(&inner[20..], &p[20..]);
                        assert_eq!(inner[9], 17);
                    }
                    // Replay and tampering with an immutable field.
                    let mut again = out[..n].to_vec();
                    assert_eq!(rx.decapsulate_in_place(&mut again), Err(EspDrop::Replay));
                    let n2 = tx.encapsulate(&p, &mut out).unwrap();
                    let mut bad = out[..n2].to_vec();
                    bad[15] ^= 1;
                    assert_eq!(
                        rx.decapsulate_in_place(&mut bad),
                        Err(EspDrop::IntegrityFailed)
                    );
                }
            }
        }
    }
}
