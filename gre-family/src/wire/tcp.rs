//! TCP MSS clamping (RouterOS `clamp-tcp-mss`): lower the MSS option of a TCP SYN to what
//! fits the tunnel MTU, updating the TCP checksum incrementally (RFC 1624 equation 3).
//!
//! Clamped value: MTU - 40 for IPv4 (20 IP + 20 TCP), MTU - 60 for IPv6 (40 + 20).
//! Only a SYN (with or without ACK) that is not a fragment and whose TCP header directly
//! follows the IP header (IPv6 without extension headers) is touched; anything else is left
//! alone. Nothing here can panic on malformed input: short or inconsistent packets are
//! simply not clamped.

use super::{be16, IPPROTO_TCP};

/// `HC' = ~(~HC + ~m + m')` (RFC 1624 equation 3): update a checksum when one 16-bit word
/// changes from `old` to `new`.
pub fn checksum_update(hc: u16, old: u16, new: u16) -> u16 {
    let mut sum = u32::from(!hc) + u32::from(!old) + u32::from(new);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The MSS that fits `mtu` for this IP version (4 or 6).
pub fn mss_for_mtu(mtu: usize, ip_version: u8) -> u16 {
    let overhead = if ip_version == 6 { 60 } else { 40 };
    u16::try_from(mtu.saturating_sub(overhead)).unwrap_or(u16::MAX)
}

/// If `packet` (starting with an IPv4 or IPv6 header) is a TCP SYN whose MSS option exceeds
/// what `mtu` allows, rewrite the option and fix the TCP checksum. Returns
/// `Some((old_mss, new_mss))` when it rewrote, `None` otherwise.
pub fn clamp_mss(packet: &mut [u8], mtu: usize) -> Option<(u16, u16)> {
    let b0 = *packet.first()?;
    let (ver, tcp_off) = match b0 >> 4 {
        4 => {
            let ihl = usize::from(b0 & 0x0f) * 4;
            if ihl < 20 || *packet.get(9)? != IPPROTO_TCP || be16(packet, 6) & 0x3fff != 0 {
                return None;
            }
            (4, ihl)
        }
        6 => {
            if *packet.get(6)? != IPPROTO_TCP {
                return None;
            }
            (6, 40)
        }
        _ => return None,
    };
    let tcp = packet.get_mut(tcp_off..)?;
    let flags = *tcp.get(13)?;
    if flags & 0x02 == 0 {
        return None;
    }
    let doff = usize::from(*tcp.get(12)? >> 4) * 4;
    if doff < 20 || doff > tcp.len() {
        return None;
    }
    let limit = mss_for_mtu(mtu, ver);
    let mut i = 20;
    while i < doff {
        let kind = *tcp.get(i)?;
        match kind {
            0 => return None,
            1 => i += 1,
            _ => {
                let len = usize::from(*tcp.get(i + 1)?);
                if len < 2 || i + len > doff {
                    return None;
                }
                if kind == 2 && len == 4 {
                    let old = be16(tcp, i + 2);
                    if old <= limit {
                        return None;
                    }
                    // the MSS value sits at an even offset from the TCP header start only when
                    // `i` is even; the checksum update works on aligned 16-bit words
                    let (word_off, old_word, new_word) = if (i + 2) % 2 == 0 {
                        (i + 2, old, limit)
                    } else {
                        // misaligned: the value straddles two words; update both
                        return clamp_misaligned(tcp, i + 2, old, limit);
                    };
                    let hc = be16(tcp, 16);
                    let nc = checksum_update(hc, old_word, new_word);
                    tcp.get_mut(word_off..word_off + 2)?
                        .copy_from_slice(&new_word.to_be_bytes());
                    tcp.get_mut(16..18)?.copy_from_slice(&nc.to_be_bytes());
                    return Some((old, limit));
                }
                i += len;
            }
        }
    }
    None
}

fn clamp_misaligned(tcp: &mut [u8], off: usize, old: u16, new: u16) -> Option<(u16, u16)> {
    // words at off-1 and off+1 each contain one byte of the MSS
    let w1_old = be16(tcp, off - 1);
    let w2_old = be16(tcp, off + 1);
    tcp.get_mut(off..off + 2)?
        .copy_from_slice(&new.to_be_bytes());
    let w1_new = be16(tcp, off - 1);
    let w2_new = be16(tcp, off + 1);
    let mut hc = be16(tcp, 16);
    hc = checksum_update(hc, w1_old, w1_new);
    hc = checksum_update(hc, w2_old, w2_new);
    tcp.get_mut(16..18)?.copy_from_slice(&hc.to_be_bytes());
    Some((old, new))
}

#[cfg(test)]
mod tests {
    use super::super::{checksum_fold, checksum_sum};
    use super::*;

    /// TCP checksum over the IPv4 pseudo-header + segment.
    fn tcp4_checksum_ok(p: &[u8]) -> bool {
        let tcp = &p[20..];
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&p[12..20]);
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        checksum_fold(checksum_sum(&pseudo) + checksum_sum(tcp)) == 0
    }

    fn syn4(options: &[u8]) -> Vec<u8> {
        let tcp_len = 20 + options.len();
        let mut p = vec![0u8; 20 + tcp_len];
        p[0] = 0x45;
        p[2..4].copy_from_slice(&((20 + tcp_len) as u16).to_be_bytes());
        p[6] = 0x40;
        p[8] = 64;
        p[9] = 6;
        p[12..16].copy_from_slice(&[10, 0, 0, 1]);
        p[16..20].copy_from_slice(&[10, 0, 0, 2]);
        let t = &mut p[20..];
        t[0..2].copy_from_slice(&40000u16.to_be_bytes());
        t[2..4].copy_from_slice(&80u16.to_be_bytes());
        t[4..8].copy_from_slice(&0x01020304u32.to_be_bytes());
        t[12] = ((tcp_len / 4) as u8) << 4;
        t[13] = 0x02;
        t[14..16].copy_from_slice(&64240u16.to_be_bytes());
        t[20..].copy_from_slice(options);
        // compute the TCP checksum from scratch
        let mut pseudo = Vec::new();
        pseudo.extend_from_slice(&p[12..20]);
        pseudo.extend_from_slice(&[0, 6]);
        pseudo.extend_from_slice(&(tcp_len as u16).to_be_bytes());
        let c = checksum_fold(checksum_sum(&pseudo) + checksum_sum(&p[20..]));
        p[36..38].copy_from_slice(&c.to_be_bytes());
        p
    }

    #[test]
    fn spec_vector_1460_through_gre_1476_becomes_1436() {
        let mut p = syn4(&[2, 4, 0x05, 0xb4, 1, 3, 3, 7]);
        assert!(tcp4_checksum_ok(&p));
        assert_eq!(clamp_mss(&mut p, 1476), Some((1460, 1436)));
        assert_eq!(&p[42..44], &1436u16.to_be_bytes());
        assert!(tcp4_checksum_ok(&p));
        // already small enough: untouched
        assert_eq!(clamp_mss(&mut p, 1476), None);
    }

    #[test]
    fn misaligned_mss_option() {
        let mut p = syn4(&[1, 2, 4, 0x05, 0xb4, 1, 1, 1]);
        assert_eq!(clamp_mss(&mut p, 1458), Some((1460, 1418)));
        assert_eq!(&p[43..45], &1418u16.to_be_bytes());
        assert!(tcp4_checksum_ok(&p));
    }

    #[test]
    fn not_syn_or_garbage_untouched() {
        let mut p = syn4(&[2, 4, 0x05, 0xb4]);
        p[33] = 0x10; // ACK only
        let before = p.clone();
        assert_eq!(clamp_mss(&mut p, 1000), None);
        assert_eq!(p, before);
        let mut bad = syn4(&[2, 9, 0x05, 0xb4]); // option length past the header
        assert_eq!(clamp_mss(&mut bad, 1000), None);
        assert_eq!(clamp_mss(&mut [], 1000), None);
        assert_eq!(clamp_mss(&mut [0x45, 0, 0], 1000), None);
    }

    #[test]
    fn rfc1624_update_matches_recompute() {
        let data = [0x12u8, 0x34, 0x56, 0x78, 0x9a, 0xbc];
        let hc = checksum_fold(checksum_sum(&data));
        let mut d2 = data;
        d2[2..4].copy_from_slice(&0x0001u16.to_be_bytes());
        assert_eq!(
            checksum_update(hc, 0x5678, 0x0001),
            checksum_fold(checksum_sum(&d2))
        );
    }
}
