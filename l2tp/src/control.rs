//! The reliable control channel (RFC 2661 section 5.8 and Appendix A; RFC 3931 section 4.2).
//!
//! Sequence numbers: every non-ZLB control message consumes one Ns; Nr is the next Ns expected
//! from the peer and acknowledges everything before it. A ZLB carries the next Ns without
//! consuming it.
//!
//! Retransmission: one timer runs for the oldest unacknowledged message. The first timeout is
//! [`ControlConfig::retransmit_initial`], each further one doubles up to
//! [`ControlConfig::retransmit_cap`]; after [`ControlConfig::max_retransmits`] retransmissions
//! without progress the channel fails and the tunnel is torn down. With the defaults
//! (1 s, cap 8 s, 5 retries) a message is sent at t = 0, 1, 3, 7, 15, 23 s and the tunnel is
//! declared dead at t = 31 s.
//!
//! Congestion control (Appendix A): the send window is `min(cwnd, peer receive window)`.
//! `cwnd` starts at 1 and `ssthresh` at the peer's window; each acknowledged message adds 1 to
//! `cwnd` below `ssthresh` (slow start) and 1 per `cwnd` acknowledgements above it (congestion
//! avoidance). A retransmission timeout sets `ssthresh = max(cwnd / 2, 1)` and `cwnd = 1`.
//!
//! Receive: in-order messages are delivered; duplicates (Ns before the expected one) are dropped
//! and re-acknowledged; messages ahead within our receive window are held until the gap fills.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use crate::config::ControlConfig;

/// `a < b` in 16-bit sequence space (RFC 2661 section 5.8).
pub fn seq_lt(a: u16, b: u16) -> bool {
    a != b && b.wrapping_sub(a) < 0x8000
}

/// A message waiting in the channel; `body` is an opaque encoder with Ns/Nr filled at send time.
#[derive(Debug, Clone)]
struct Sent<M> {
    ns: u16,
    msg: M,
}

/// Counters of the control channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChannelStats {
    /// Messages sent for the first time.
    pub sent: u64,
    /// Retransmissions.
    pub retransmits: u64,
    /// ZLB acknowledgements sent.
    pub zlb_sent: u64,
    /// Messages delivered in order.
    pub delivered: u64,
    /// Duplicates received (re-acknowledged, not reprocessed).
    pub duplicates: u64,
    /// Out-of-order messages held for later delivery.
    pub held: u64,
    /// Messages outside the receive window (dropped).
    pub out_of_window: u64,
}

/// What to transmit: the message with its Ns and Nr, or a ZLB.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing<M> {
    /// A message (first send or retransmission).
    Message {
        /// Ns.
        ns: u16,
        /// Nr.
        nr: u16,
        /// The message.
        msg: M,
        /// True for a retransmission.
        retransmit: bool,
    },
    /// A zero-length-body acknowledgement.
    Zlb {
        /// Ns (next to be sent, not consumed).
        ns: u16,
        /// Nr.
        nr: u16,
    },
}

/// Sequenced, windowed, retransmitting control channel, generic over the message type.
#[derive(Debug, Clone)]
pub struct Channel<M> {
    cfg: ControlConfig,
    next_ns: u16,
    expected_nr: u16,
    peer_window: u16,
    cwnd: u16,
    ssthresh: u16,
    ca_acks: u16,
    unacked: VecDeque<Sent<M>>,
    queue: VecDeque<M>,
    held: BTreeMap<u16, M>,
    resend_oldest: bool,
    ack_pending: bool,
    rto_deadline: Option<Instant>,
    tries: u32,
    failed: bool,
    /// Timer retransmissions allowed before the peer has proven itself; past them the channel
    /// stalls (no timer, no failure) instead of failing. `None`: RFC 2661 s5.8 behaviour.
    quiet_after: Option<u32>,
    stats: ChannelStats,
}

impl<M: Clone> Channel<M> {
    /// A new channel; the peer's window is 4 until [`Channel::set_peer_window`].
    pub fn new(cfg: ControlConfig) -> Self {
        Channel {
            cfg,
            next_ns: 0,
            expected_nr: 0,
            peer_window: 4,
            cwnd: 1,
            ssthresh: 4,
            ca_acks: 0,
            unacked: VecDeque::new(),
            queue: VecDeque::new(),
            held: BTreeMap::new(),
            resend_oldest: false,
            ack_pending: false,
            rto_deadline: None,
            tries: 0,
            failed: false,
            quiet_after: None,
            stats: ChannelStats::default(),
        }
    }

    /// Limit timer-driven retransmissions to `n` while the peer has not proven that it
    /// receives what we send (`Some(n)`): after `n` the channel stalls (no deadline, not
    /// failed) and only [`Channel::retransmit_now`] sends again. `None` restores the normal
    /// RFC 2661 s5.8 schedule from `now`.
    pub fn set_quiet_after(&mut self, now: Instant, n: Option<u32>) {
        self.quiet_after = n;
        if n.is_none() && self.rto_deadline.is_none() && !self.unacked.is_empty() && !self.failed {
            self.tries = 0;
            self.rto_deadline = Some(now + self.cfg.retransmit_initial);
        }
    }

    /// Resend the oldest unacknowledged message at the next [`Channel::poll_transmit`]
    /// (an answer to the peer's own retransmission); no effect when nothing is unacknowledged.
    pub fn retransmit_now(&mut self) {
        if !self.unacked.is_empty() && !self.failed {
            self.resend_oldest = true;
        }
    }

    /// Peer's Receive Window Size AVP (absent = 4, RFC 2661 section 4.4.3).
    pub fn set_peer_window(&mut self, w: u16) {
        self.peer_window = w.max(1);
        self.ssthresh = self.peer_window;
        self.cwnd = self.cwnd.min(self.peer_window);
    }

    /// Queue a message for reliable delivery.
    pub fn send(&mut self, msg: M) {
        self.queue.push_back(msg);
    }

    /// Current congestion window.
    pub fn cwnd(&self) -> u16 {
        self.cwnd
    }

    /// Counters.
    pub fn stats(&self) -> ChannelStats {
        self.stats
    }

    /// True once the retry limit was exceeded.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// Nothing queued and nothing unacknowledged.
    pub fn is_idle(&self) -> bool {
        self.unacked.is_empty() && self.queue.is_empty()
    }

    /// Next Ns that will be used.
    pub fn next_ns(&self) -> u16 {
        self.next_ns
    }

    /// Next Ns expected from the peer.
    pub fn expected_nr(&self) -> u16 {
        self.expected_nr
    }

    /// Drop everything queued or unacknowledged (used when a tie-breaker is lost).
    pub fn reset(&mut self) {
        *self = Channel::new(self.cfg.clone());
    }

    /// Process the Nr of any received control message (including ZLBs).
    fn process_ack(&mut self, now: Instant, nr: u16) {
        // Nr may not acknowledge messages we have not sent.
        if seq_lt(self.next_ns, nr) {
            return;
        }
        let mut progressed = false;
        while let Some(front) = self.unacked.front() {
            if seq_lt(front.ns, nr) {
                self.unacked.pop_front();
                progressed = true;
                if self.cwnd < self.ssthresh {
                    self.cwnd += 1;
                } else {
                    self.ca_acks += 1;
                    if self.ca_acks >= self.cwnd {
                        self.ca_acks = 0;
                        self.cwnd += 1;
                    }
                }
                self.cwnd = self.cwnd.min(self.peer_window);
            } else {
                break;
            }
        }
        if progressed {
            self.tries = 0;
            self.resend_oldest = false;
            self.rto_deadline = if self.unacked.is_empty() {
                None
            } else {
                Some(now + self.cfg.retransmit_initial)
            };
        }
    }

    /// Process a received message with sequence numbers `ns`/`nr` (`msg` = None for a ZLB).
    /// Returns the messages now deliverable in order.
    pub fn on_receive(&mut self, now: Instant, ns: u16, nr: u16, msg: Option<M>) -> Vec<M> {
        self.process_ack(now, nr);
        let Some(msg) = msg else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if ns == self.expected_nr {
            out.push(msg);
            self.expected_nr = self.expected_nr.wrapping_add(1);
            while let Some(m) = self.held.remove(&self.expected_nr) {
                out.push(m);
                self.expected_nr = self.expected_nr.wrapping_add(1);
            }
            self.stats.delivered += out.len() as u64;
            self.ack_pending = true;
        } else if seq_lt(ns, self.expected_nr) {
            self.stats.duplicates += 1;
            self.ack_pending = true;
        } else if ns.wrapping_sub(self.expected_nr) < self.cfg.receive_window {
            self.stats.held += 1;
            self.held.insert(ns, msg);
            self.ack_pending = true;
        } else {
            self.stats.out_of_window += 1;
        }
        out
    }

    /// Next thing to put on the wire.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Outgoing<M>> {
        if self.failed {
            return None;
        }
        if self.resend_oldest {
            self.resend_oldest = false;
            if let Some(s) = self.unacked.front() {
                self.stats.retransmits += 1;
                self.ack_pending = false;
                return Some(Outgoing::Message {
                    ns: s.ns,
                    nr: self.expected_nr,
                    msg: s.msg.clone(),
                    retransmit: true,
                });
            }
        }
        let window = self.cwnd.min(self.peer_window) as usize;
        if self.unacked.len() < window {
            if let Some(msg) = self.queue.pop_front() {
                let ns = self.next_ns;
                self.next_ns = self.next_ns.wrapping_add(1);
                self.unacked.push_back(Sent {
                    ns,
                    msg: msg.clone(),
                });
                if self.rto_deadline.is_none() {
                    self.rto_deadline = Some(now + self.cfg.retransmit_initial);
                }
                self.stats.sent += 1;
                self.ack_pending = false;
                return Some(Outgoing::Message {
                    ns,
                    nr: self.expected_nr,
                    msg,
                    retransmit: false,
                });
            }
        }
        if self.ack_pending {
            self.ack_pending = false;
            self.stats.zlb_sent += 1;
            return Some(Outgoing::Zlb {
                ns: self.next_ns,
                nr: self.expected_nr,
            });
        }
        None
    }

    /// Retransmission deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.failed {
            None
        } else {
            self.rto_deadline
        }
    }

    /// Handle a timer expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(d) = self.rto_deadline else { return };
        if now < d || self.failed {
            return;
        }
        if self.quiet_after.is_some_and(|q| self.tries >= q) {
            self.rto_deadline = None;
            return;
        }
        if self.tries >= self.cfg.max_retransmits {
            self.failed = true;
            self.rto_deadline = None;
            return;
        }
        self.tries += 1;
        self.ssthresh = (self.cwnd / 2).max(1);
        self.cwnd = 1;
        self.ca_acks = 0;
        self.resend_oldest = true;
        let shift = self.tries.min(16);
        let backoff = self
            .cfg
            .retransmit_initial
            .checked_mul(1u32 << shift)
            .unwrap_or(self.cfg.retransmit_cap)
            .min(self.cfg.retransmit_cap);
        self.rto_deadline = Some(now + backoff);
    }

    /// Duration a message takes to be declared lost for good (sum of all timeouts).
    pub fn give_up_after(&self) -> Duration {
        let mut total = Duration::ZERO;
        for i in 0..=self.cfg.max_retransmits {
            let t = self
                .cfg
                .retransmit_initial
                .checked_mul(1u32 << i.min(16))
                .unwrap_or(self.cfg.retransmit_cap)
                .min(self.cfg.retransmit_cap);
            total += t;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ch() -> Channel<u32> {
        Channel::new(ControlConfig::default())
    }

    #[test]
    fn quiet_channel_stalls_answers_on_demand_and_resumes() {
        let t0 = Instant::now();
        let mut c = ch();
        c.set_quiet_after(t0, Some(1));
        c.send(7);
        assert!(matches!(
            c.poll_transmit(t0),
            Some(Outgoing::Message {
                retransmit: false,
                ..
            })
        ));
        // one timer retransmission at 1 s, then the channel stalls (not failed) at 3 s
        let t1 = t0 + Duration::from_secs(1);
        c.handle_timeout(t1);
        assert!(matches!(
            c.poll_transmit(t1),
            Some(Outgoing::Message {
                retransmit: true,
                ..
            })
        ));
        let t3 = t0 + Duration::from_secs(3);
        c.handle_timeout(t3);
        assert_eq!(c.poll_transmit(t3), None);
        assert_eq!((c.poll_timeout(), c.failed()), (None, false));
        // on demand: one copy
        c.retransmit_now();
        assert!(matches!(
            c.poll_transmit(t3),
            Some(Outgoing::Message {
                retransmit: true,
                ..
            })
        ));
        assert_eq!(c.poll_transmit(t3), None);
        // proven: the RFC schedule resumes from now
        c.set_quiet_after(t3, None);
        assert_eq!(c.poll_timeout(), Some(t3 + Duration::from_secs(1)));
        assert_eq!(c.stats().retransmits, 2);
    }

    #[test]
    fn seq_space() {
        assert!(seq_lt(0, 1));
        assert!(seq_lt(65535, 0));
        assert!(!seq_lt(1, 0));
        assert!(!seq_lt(5, 5));
    }

    #[test]
    fn schedule_and_give_up() {
        let t0 = Instant::now();
        let mut c = ch();
        c.send(7);
        assert!(matches!(
            c.poll_transmit(t0),
            Some(Outgoing::Message {
                ns: 0,
                retransmit: false,
                ..
            })
        ));
        let mut sends = vec![0u64];
        let mut now = t0;
        while let Some(d) = c.poll_timeout() {
            now = d;
            c.handle_timeout(now);
            while let Some(o) = c.poll_transmit(now) {
                assert!(matches!(
                    o,
                    Outgoing::Message {
                        retransmit: true,
                        ..
                    }
                ));
                sends.push((now - t0).as_secs());
            }
        }
        assert_eq!(sends, [0, 1, 3, 7, 15, 23]);
        assert!(c.failed());
        assert_eq!((now - t0).as_secs(), 31);
        assert_eq!(c.give_up_after(), Duration::from_secs(31));
    }

    #[test]
    fn window_slow_start_and_ack() {
        let t0 = Instant::now();
        let mut c = ch();
        c.set_peer_window(4);
        for i in 0..6 {
            c.send(i);
        }
        // cwnd 1: only one message goes out.
        assert!(c.poll_transmit(t0).is_some());
        assert!(c.poll_transmit(t0).is_none());
        c.on_receive(t0, 0, 1, None);
        assert_eq!(c.cwnd(), 2);
        assert!(c.poll_transmit(t0).is_some());
        assert!(c.poll_transmit(t0).is_some());
        assert!(c.poll_transmit(t0).is_none());
        c.on_receive(t0, 0, 3, None);
        assert_eq!(c.cwnd(), 4);
        // Timeout halves ssthresh and resets cwnd.
        assert!(c.poll_transmit(t0).is_some());
        assert!(c.poll_transmit(t0).is_some());
        c.handle_timeout(t0 + Duration::from_secs(1));
        assert_eq!(c.cwnd(), 1);
        assert!(matches!(
            c.poll_transmit(t0),
            Some(Outgoing::Message {
                ns: 3,
                retransmit: true,
                ..
            })
        ));
    }

    #[test]
    fn duplicates_reordering() {
        let t0 = Instant::now();
        let mut c = ch();
        assert_eq!(c.on_receive(t0, 1, 0, Some(11)), Vec::<u32>::new());
        assert!(matches!(
            c.poll_transmit(t0),
            Some(Outgoing::Zlb { ns: 0, nr: 0 })
        ));
        assert_eq!(c.on_receive(t0, 0, 0, Some(10)), vec![10, 11]);
        assert!(matches!(
            c.poll_transmit(t0),
            Some(Outgoing::Zlb { ns: 0, nr: 2 })
        ));
        assert_eq!(c.on_receive(t0, 0, 0, Some(10)), Vec::<u32>::new());
        assert_eq!(c.stats().duplicates, 1);
        assert!(matches!(
            c.poll_transmit(t0),
            Some(Outgoing::Zlb { ns: 0, nr: 2 })
        ));
        assert_eq!(c.on_receive(t0, 40, 0, Some(1)), Vec::<u32>::new());
        assert_eq!(c.stats().out_of_window, 1);
        // Bogus ack beyond what we sent is ignored.
        c.send(1);
        c.poll_transmit(t0);
        c.on_receive(t0, 2, 9, None);
        assert!(!c.is_idle());
    }
}
