//! What the PPTP machines hand to the I/O layer and what became of an input: shared by
//! [`crate::Client`] and [`crate::Server`].

use std::net::IpAddr;

use gre_family::wire::egre::EnhancedGreRepr;

use crate::data::GreChannel;
use crate::event::DropReason;

/// A control connection of a [`crate::Server`] (the client has one, `ConnId(0)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Which socket a [`Transmit`] goes out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// The TCP connection (port 1723) of `conn`: write the bytes to the stream.
    Control,
    /// The raw IP protocol 47 socket: send the bytes (an enhanced GRE packet, without the IP
    /// header) to `peer`.
    Gre,
}

/// Bytes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The control connection it belongs to.
    pub conn: ConnId,
    /// The peer's address (the TCP peer; the GRE destination).
    pub peer: IpAddr,
    /// Stream bytes or a GRE packet.
    pub channel: Channel,
    /// The bytes.
    pub payload: Vec<u8>,
}

/// What became of a GRE packet given to `handle_datagram`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Input<'a> {
    /// Consumed: an acknowledgment or PPP control traffic (poll for transmits and events).
    Control,
    /// A network-layer datagram (IPv4 0x0021, IPv6 0x0057) for the application, borrowed
    /// from the input packet (decrypted in place when MPPE is up).
    Datagram {
        /// PPP protocol number.
        protocol: u16,
        /// The datagram.
        payload: &'a [u8],
    },
    /// Dropped and counted.
    Dropped(DropReason),
}

pub(crate) fn map_ppp(r: Result<ppp::Input<'_>, ppp::Error>) -> Input<'_> {
    match r {
        Ok(ppp::Input::Control) => Input::Control,
        Ok(ppp::Input::Datagram { protocol, payload }) => Input::Datagram { protocol, payload },
        _ => Input::Dropped(DropReason::Ppp),
    }
}

/// Largest enhanced GRE header (sequence and acknowledgment).
pub(crate) const MAX_GRE_HEADER: usize = 16;

/// Build a GRE packet for `frame` (a PPP frame from the host) as a new vector.
pub(crate) fn gre_packet(h: &EnhancedGreRepr, frame: &[u8]) -> Vec<u8> {
    let hl = h.header_len();
    let mut v = vec![0u8; hl + frame.len()];
    let _ = h.emit(&mut v);
    if let Some(dst) = v.get_mut(hl..) {
        dst.copy_from_slice(frame);
    }
    v
}

/// Encapsulate with `write` (which writes a PPP frame into the slice it gets and returns its
/// length) straight into `out`, then put the GRE header in front: no allocation.
pub(crate) fn encapsulate_into(
    now: std::time::Instant,
    gre: &mut GreChannel,
    out: &mut [u8],
    write: impl FnOnce(&mut [u8]) -> Result<usize, crate::Error>,
) -> Result<usize, crate::Error> {
    if !gre.window_open(now) {
        return Err(crate::Error::WindowFull);
    }
    let have = out.len();
    let room = out
        .get_mut(MAX_GRE_HEADER..)
        .ok_or(crate::Error::BufferTooSmall {
            need: MAX_GRE_HEADER + 1,
            have,
        })?;
    let n = write(room)?;
    if MAX_GRE_HEADER + n > out.len() {
        return Err(crate::Error::BufferTooSmall {
            need: MAX_GRE_HEADER + n,
            have,
        });
    }
    // A payload the 16-bit GRE length cannot describe: at most 65535 bytes fit.
    let len = u16::try_from(n).map_err(|_| crate::Error::BufferTooSmall {
        need: n,
        have: usize::from(u16::MAX),
    })?;
    let h = gre.next_header(now, len).ok_or(crate::Error::WindowFull)?;
    let hl = h.header_len();
    out.copy_within(MAX_GRE_HEADER..MAX_GRE_HEADER + n, hl);
    h.emit(out)
        .map_err(|_| crate::Error::BufferTooSmall { need: hl + n, have })?;
    Ok(hl + n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// A short output buffer is refused with the workspace's one error shape,
    /// `BufferTooSmall { need, have }` (issue 21), before anything is written.
    #[test]
    fn short_output_buffer_reports_need_and_have() {
        let now = Instant::now();
        let mut gre = GreChannel::new(
            now,
            9,
            8,
            Duration::from_millis(100),
            Duration::from_secs(1),
        );
        // No room even for the header.
        let mut out = [0u8; 4];
        let e = encapsulate_into(now, &mut gre, &mut out, |_| Ok(0)).unwrap_err();
        assert_eq!(
            e,
            crate::Error::BufferTooSmall {
                need: MAX_GRE_HEADER + 1,
                have: 4
            }
        );
        // Room for the header, and the writer claims more than fits.
        let mut out = [0u8; 40];
        let e = encapsulate_into(now, &mut gre, &mut out, |room| Ok(room.len() + 1)).unwrap_err();
        assert_eq!(e, crate::Error::BufferTooSmall { need: 41, have: 40 });
    }
}
