//! The enhanced GRE data channel of one call (RFC 2637 s4): sequence numbers, acknowledgments
//! and the sliding window.
//!
//! ```text
//!   sender                                         receiver
//!   next_seq ──► [S=1 seq=n  (A=1 ack=m)] PPP ──►  last_rx < n (wrapping): accept, ack due
//!                                                  n <= last_rx: duplicate / late: dropped
//!   peer_acked ◄── [A=1 ack=n] (piggy-backed on data, or alone within `ack_delay`)
//!   window: at most `peer_window` packets unacknowledged (the peer's Packet Receive Window)
//! ```
//!
//! * Every data packet carries the next sequence number (the first is 0) and, once anything
//!   was received, the acknowledgment of the highest sequence number received (RFC 2637 s4.1,
//!   s4.2.5: acknowledgments are cumulative).
//! * When a packet was received and no data goes back within `ack_delay` (100 ms, the
//!   Packet Acknowledgment Timer of [MS-PTPT] s3.1.2), a stand-alone acknowledgment
//!   (S=0, A=1, no payload) goes out (RFC 2637 s4.2, s4.4).
//! * Out of order and duplicate packets (a sequence number not after the highest received,
//!   in 32-bit serial arithmetic) are dropped and counted (RFC 2637 s4.3 allows discarding
//!   them). PPP tolerates the loss; MPPE in stateless mode re-keys by its own coherency
//!   count, so a dropped packet never desynchronises it.
//! * The window (RFC 2637 s4.2): a packet is not sent while `peer_window` packets are
//!   unacknowledged; it is dropped and counted (PPP datagrams are unreliable). RFC 2637 s4.4
//!   asks for an adaptive acknowledgment time-out; this implementation uses a fixed
//!   `window_timeout`: when the window has been full that long with no acknowledgment, the
//!   outstanding packets are taken as lost and the window opens again.
//! * An acknowledgment for a sequence number never sent is absurd: the packet is dropped.

use std::time::{Duration, Instant};

use gre_family::wire::egre::EnhancedGreRepr;

use crate::event::DropReason;

/// Counters of one call's GRE channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GreStats {
    /// Data packets sent (S=1).
    pub tx_data: u64,
    /// Stand-alone acknowledgments sent.
    pub tx_acks: u64,
    /// Data packets accepted.
    pub rx_data: u64,
    /// Stand-alone acknowledgments received.
    pub rx_acks: u64,
    /// Packets dropped as duplicates.
    pub rx_duplicates: u64,
    /// Packets dropped as out of order (older than the highest received).
    pub rx_out_of_order: u64,
    /// Packets dropped for an acknowledgment of something never sent.
    pub rx_absurd_acks: u64,
    /// Sequence numbers skipped (lost or not yet arrived) between accepted packets.
    pub rx_gaps: u64,
    /// Packets not sent because the peer's window was full.
    pub tx_window_full: u64,
    /// Times the window was forced open after `window_timeout`.
    pub window_timeouts: u64,
}

/// What became of a received GRE packet's header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxVerdict {
    /// The payload (if any) is new: hand it to PPP.
    Accept,
    /// A stand-alone acknowledgment, consumed.
    AckOnly,
    /// Dropped.
    Drop(DropReason),
}

/// Sequence/acknowledgment state of one call (RFC 2637 s4.2-s4.4).
#[derive(Debug, Clone)]
pub struct GreChannel {
    /// The peer's call ID: the Key low word of every packet we send.
    peer_call_id: u16,
    /// The peer's Packet Receive Window Size.
    peer_window: u16,
    ack_delay: Duration,
    window_timeout: Duration,
    next_seq: u32,
    /// Highest of our sequence numbers the peer acknowledged (`None`: nothing yet).
    peer_acked: Option<u32>,
    /// Highest sequence number received.
    last_rx: Option<u32>,
    ack_deadline: Option<Instant>,
    /// When the window last made progress (an ack advanced it, or it was empty).
    progress_at: Instant,
    /// Data packets ever sent (bounds which acknowledgments make sense).
    sent_total: u64,
    stats: GreStats,
}

/// Serial-number comparison: `a` after `b` (32-bit wrap-around).
fn after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

impl GreChannel {
    /// A channel sending to `peer_call_id` with the peer's receive window (0 is taken as 1).
    pub fn new(
        now: Instant,
        peer_call_id: u16,
        peer_window: u16,
        ack_delay: Duration,
        window_timeout: Duration,
    ) -> Self {
        GreChannel {
            peer_call_id,
            peer_window: peer_window.max(1),
            ack_delay,
            window_timeout,
            next_seq: 0,
            peer_acked: None,
            last_rx: None,
            ack_deadline: None,
            progress_at: now,
            sent_total: 0,
            stats: GreStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> GreStats {
        self.stats
    }

    /// The peer's call ID.
    pub fn peer_call_id(&self) -> u16 {
        self.peer_call_id
    }

    /// The peer's receive window.
    pub fn peer_window(&self) -> u16 {
        self.peer_window
    }

    /// Our next sequence number.
    pub fn next_seq(&self) -> u32 {
        self.next_seq
    }

    /// Highest sequence number received.
    pub fn last_received(&self) -> Option<u32> {
        self.last_rx
    }

    /// Highest of ours the peer acknowledged.
    pub fn peer_acked(&self) -> Option<u32> {
        self.peer_acked
    }

    /// Packets sent and not yet acknowledged.
    pub fn outstanding(&self) -> u32 {
        match self.peer_acked {
            Some(a) => self.next_seq.wrapping_sub(a).wrapping_sub(1),
            None => self.next_seq,
        }
    }

    /// When a stand-alone acknowledgment is due.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.ack_deadline
    }

    /// The header of a stand-alone acknowledgment if one is due at `now`.
    pub fn poll_ack(&mut self, now: Instant) -> Option<EnhancedGreRepr> {
        if self.ack_deadline.is_some_and(|d| d <= now) {
            self.ack_deadline = None;
            self.stats.tx_acks += 1;
            return Some(EnhancedGreRepr {
                payload_len: 0,
                call_id: self.peer_call_id,
                sequence: None,
                ack: self.last_rx,
            });
        }
        None
    }

    /// True when a data packet may be sent now; counts a refusal in
    /// [`GreStats::tx_window_full`]. Check this before encrypting a packet that would then
    /// not be sent.
    pub fn window_open(&mut self, now: Instant) -> bool {
        if self.outstanding() < u32::from(self.peer_window) {
            return true;
        }
        if now.saturating_duration_since(self.progress_at) >= self.window_timeout {
            // RFC 2637 s4.4: the acknowledgment time-out expired: take the outstanding
            // packets as lost and open the window.
            self.stats.window_timeouts += 1;
            self.peer_acked = Some(self.next_seq.wrapping_sub(1));
            self.progress_at = now;
            true
        } else {
            self.stats.tx_window_full += 1;
            false
        }
    }

    /// The header for a data packet of `payload_len` bytes, or `None` when the peer's window
    /// is full (the packet must not be sent; counted). Consumes a sequence number and
    /// piggy-backs the acknowledgment.
    pub fn next_header(&mut self, now: Instant, payload_len: u16) -> Option<EnhancedGreRepr> {
        if !self.window_open(now) {
            return None;
        }
        if self.outstanding() == 0 {
            self.progress_at = now;
        }
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.stats.tx_data += 1;
        self.sent_total += 1;
        let ack = self.last_rx;
        if ack.is_some() {
            self.ack_deadline = None;
        }
        Some(EnhancedGreRepr {
            payload_len,
            call_id: self.peer_call_id,
            sequence: Some(seq),
            ack,
        })
    }

    /// Account a received packet's header (its Call ID already matched).
    pub fn handle_header(&mut self, now: Instant, h: &EnhancedGreRepr) -> RxVerdict {
        if let Some(a) = h.ack {
            // An acknowledgment must be for something we sent: at most next_seq - 1, and
            // not before the window's start.
            let highest_sent = self.next_seq.wrapping_sub(1);
            let absurd = u64::from(highest_sent.wrapping_sub(a)) >= self.sent_total;
            if absurd {
                self.stats.rx_absurd_acks += 1;
                return RxVerdict::Drop(DropReason::AbsurdAck);
            }
            if self.peer_acked.is_none_or(|p| after(a, p)) {
                self.peer_acked = Some(a);
                self.progress_at = now;
            }
        }
        let Some(s) = h.sequence else {
            self.stats.rx_acks += 1;
            return if h.ack.is_some() {
                RxVerdict::AckOnly
            } else {
                RxVerdict::Drop(DropReason::NoSequence)
            };
        };
        match self.last_rx {
            Some(l) if s == l => {
                self.stats.rx_duplicates += 1;
                return RxVerdict::Drop(DropReason::Duplicate);
            }
            Some(l) if !after(s, l) => {
                self.stats.rx_out_of_order += 1;
                return RxVerdict::Drop(DropReason::OutOfOrder);
            }
            Some(l) => self.stats.rx_gaps += u64::from(s.wrapping_sub(l) - 1),
            None => {}
        }
        self.last_rx = Some(s);
        self.stats.rx_data += 1;
        if self.ack_deadline.is_none() {
            self.ack_deadline = Some(now + self.ack_delay);
        }
        RxVerdict::Accept
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch(now: Instant, window: u16) -> GreChannel {
        GreChannel::new(
            now,
            9,
            window,
            Duration::from_millis(100),
            Duration::from_secs(1),
        )
    }

    fn data(seq: u32, ack: Option<u32>) -> EnhancedGreRepr {
        EnhancedGreRepr {
            payload_len: 4,
            call_id: 1,
            sequence: Some(seq),
            ack,
        }
    }

    #[test]
    fn sequence_starts_at_zero_and_acks_piggy_back() {
        let t = Instant::now();
        let mut c = ch(t, 8);
        let h = c.next_header(t, 4).unwrap();
        assert_eq!((h.sequence, h.ack, h.call_id), (Some(0), None, 9));
        assert_eq!(c.handle_header(t, &data(5, Some(0))), RxVerdict::Accept);
        assert_eq!(c.peer_acked(), Some(0));
        assert_eq!(c.poll_timeout(), Some(t + Duration::from_millis(100)));
        let h = c.next_header(t, 4).unwrap();
        assert_eq!((h.sequence, h.ack), (Some(1), Some(5)));
        assert_eq!(
            c.poll_timeout(),
            None,
            "the piggy-backed ack cancels the timer"
        );
    }

    #[test]
    fn stand_alone_ack_after_100ms() {
        let t = Instant::now();
        let mut c = ch(t, 8);
        c.handle_header(t, &data(0, None));
        assert_eq!(c.poll_ack(t + Duration::from_millis(99)), None);
        let a = c.poll_ack(t + Duration::from_millis(100)).unwrap();
        assert_eq!((a.sequence, a.ack, a.payload_len), (None, Some(0), 0));
        assert_eq!(c.stats().tx_acks, 1);
        assert_eq!(c.poll_timeout(), None);
    }

    #[test]
    fn duplicates_and_late_packets_are_dropped() {
        let t = Instant::now();
        let mut c = ch(t, 8);
        assert_eq!(c.handle_header(t, &data(3, None)), RxVerdict::Accept);
        assert_eq!(
            c.handle_header(t, &data(3, None)),
            RxVerdict::Drop(DropReason::Duplicate)
        );
        assert_eq!(
            c.handle_header(t, &data(2, None)),
            RxVerdict::Drop(DropReason::OutOfOrder)
        );
        assert_eq!(c.handle_header(t, &data(6, None)), RxVerdict::Accept);
        assert_eq!(c.stats().rx_gaps, 2);
        // wrap-around
        let mut c = ch(t, 8);
        assert_eq!(c.handle_header(t, &data(u32::MAX, None)), RxVerdict::Accept);
        assert_eq!(c.handle_header(t, &data(0, None)), RxVerdict::Accept);
        assert_eq!(
            c.handle_header(t, &data(u32::MAX, None)),
            RxVerdict::Drop(DropReason::OutOfOrder)
        );
    }

    #[test]
    fn window_closes_at_peer_window_and_reopens() {
        let t = Instant::now();
        let mut c = ch(t, 3);
        for i in 0..3 {
            assert_eq!(c.next_header(t, 1).unwrap().sequence, Some(i));
        }
        assert_eq!(c.next_header(t, 1), None);
        assert_eq!(c.stats().tx_window_full, 1);
        // an ack of seq 1 frees two slots
        assert_eq!(
            c.handle_header(
                t,
                &EnhancedGreRepr {
                    payload_len: 0,
                    call_id: 1,
                    sequence: None,
                    ack: Some(1)
                }
            ),
            RxVerdict::AckOnly
        );
        assert_eq!(c.outstanding(), 1);
        assert!(c.next_header(t, 1).is_some());
        assert!(c.next_header(t, 1).is_some());
        assert_eq!(c.next_header(t, 1), None);
        // no ack for window_timeout: forced open
        let later = t + Duration::from_secs(1);
        assert_eq!(c.next_header(later, 1).unwrap().sequence, Some(5));
        assert_eq!(c.stats().window_timeouts, 1);
    }

    #[test]
    fn absurd_acks_are_dropped() {
        let t = Instant::now();
        let mut c = ch(t, 3);
        // nothing sent yet
        assert_eq!(
            c.handle_header(t, &data(0, Some(0))),
            RxVerdict::Drop(DropReason::AbsurdAck)
        );
        c.next_header(t, 1);
        assert_eq!(
            c.handle_header(t, &data(0, Some(7))),
            RxVerdict::Drop(DropReason::AbsurdAck)
        );
        assert_eq!(
            c.handle_header(t, &data(0, Some(0x8000_0000))),
            RxVerdict::Drop(DropReason::AbsurdAck)
        );
        assert_eq!(c.handle_header(t, &data(0, Some(0))), RxVerdict::Accept);
        assert_eq!(c.stats().rx_absurd_acks, 3);
    }
}
