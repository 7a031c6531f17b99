//! The control channel's reliability layer (one instance per key id).
//!
//! Control messages carry a per-key-id message packet id starting at 0. The receiver acks
//! every message it gets (piggy-backed on its own control packets or in a standalone
//! `P_ACK_V1`), delivers them in order, buffers out-of-order ones inside a bounded window
//! and re-acks duplicates (the first ack may have been lost). The sender keeps at most
//! [`ReliableConfig::window`] unacknowledged messages in flight and retransmits each after
//! a timeout that doubles on every retry, up to a cap. Time is injected.
//!
//! ```text
//!   sender                                   receiver
//!   id 0 HARD_RESET ----------------------->  deliver 0, ack {0}
//!        <-------------------- ack {0} + own id 0
//!   id 1 CONTROL ----------x (lost)
//!   id 2 CONTROL ------------------------->  buffer 2 (waiting for 1), ack {2}
//!   (timeout 1: resend id 1) ------------->  deliver 1, 2; ack {1}
//! ```

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::wire::{AckList, Opcode, MAX_ACKS};

/// Reliability parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReliableConfig {
    /// Messages in flight (unacked) and the receive reorder window. OpenVPN uses 8.
    pub window: usize,
    /// First retransmission timeout (OpenVPN `tls-timeout`, default 2 s).
    pub initial_rto: Duration,
    /// Largest retransmission timeout after doubling.
    pub max_rto: Duration,
    /// Most acks waiting to be sent (older ones are dropped; the peer retransmits).
    pub max_pending_acks: usize,
}

impl Default for ReliableConfig {
    fn default() -> Self {
        ReliableConfig {
            window: 8,
            initial_rto: Duration::from_secs(2),
            max_rto: Duration::from_secs(16),
            max_pending_acks: 64,
        }
    }
}

#[derive(Debug)]
struct Outgoing {
    id: u32,
    opcode: Opcode,
    payload: Vec<u8>,
    /// `None` = not yet sent.
    deadline: Option<Instant>,
    rto: Duration,
    sends: u32,
}

/// A message ready to be put on the wire.
#[derive(Debug, PartialEq, Eq)]
pub struct Outbound<'a> {
    /// Opcode of the message.
    pub opcode: Opcode,
    /// Message packet id.
    pub message_id: u32,
    /// Payload.
    pub payload: &'a [u8],
    /// Whether this is a retransmission.
    pub retransmit: bool,
}

/// What [`Reliable::receive`] did with a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// New message, now deliverable or buffered.
    New,
    /// Duplicate (already delivered or buffered): re-acked, payload ignored.
    Duplicate,
    /// Outside the receive window: dropped, not acked.
    OutOfWindow,
}

/// Reliability state of one key id.
#[derive(Debug)]
pub struct Reliable {
    cfg: ReliableConfig,
    next_send_id: u32,
    send: VecDeque<Outgoing>,
    next_recv_id: u32,
    /// Out-of-order messages (id, opcode, payload), bounded by the window.
    recv: Vec<(u32, Opcode, Vec<u8>)>,
    acks: VecDeque<u32>,
    /// The last acks sent, repeated on later packets when there is room (OpenVPN 2.6's
    /// "ACK MRU"): a retransmitted message then still proves the peer's session id, which
    /// a stateless server needs ([`crate::cookie`]).
    recent_acks: VecDeque<u32>,
    retransmits: u64,
}

/// How many recently sent acks are repeated.
const RECENT_ACKS: usize = 4;

impl Reliable {
    /// New state.
    pub fn new(cfg: ReliableConfig) -> Self {
        Reliable {
            cfg,
            next_send_id: 0,
            send: VecDeque::new(),
            next_recv_id: 0,
            recv: Vec::new(),
            acks: VecDeque::new(),
            recent_acks: VecDeque::new(),
            retransmits: 0,
        }
    }

    /// Treat message id 0 as sent-and-acked and received in both directions: the stateless
    /// server handshake answered the peer's reset before this state existed
    /// ([`crate::cookie`]).
    pub fn skip_reset_exchange(&mut self) {
        if self.next_send_id == 0 && self.send.is_empty() {
            self.next_send_id = 1;
        }
        if self.next_recv_id == 0 {
            self.next_recv_id = 1;
            self.recv.retain(|(i, _, _)| *i != 0);
        }
    }

    /// Total retransmissions so far.
    pub fn retransmits(&self) -> u64 {
        self.retransmits
    }

    /// Queue a message; returns its id. Queued messages beyond the window wait until
    /// earlier ones are acked.
    pub fn queue(&mut self, opcode: Opcode, payload: Vec<u8>) -> u32 {
        let id = self.next_send_id;
        self.next_send_id = self.next_send_id.wrapping_add(1);
        self.send.push_back(Outgoing {
            id,
            opcode,
            payload,
            deadline: None,
            rto: self.cfg.initial_rto,
            sends: 0,
        });
        id
    }

    /// Messages queued or in flight and not yet acknowledged.
    pub fn unacked(&self) -> usize {
        self.send.len()
    }

    /// Process acks from the peer.
    pub fn on_acks(&mut self, ids: &[u32]) {
        self.send.retain(|o| !ids.contains(&o.id));
    }

    /// Record a received message. New in-window messages are buffered for [`Self::pop_ready`].
    /// Every in-window or old message is (re-)acked.
    pub fn receive(&mut self, id: u32, opcode: Opcode, payload: &[u8]) -> Received {
        let ahead = id.wrapping_sub(self.next_recv_id);
        if ahead >= self.cfg.window as u32 {
            // Behind (duplicate of something delivered) or too far ahead.
            let behind = self.next_recv_id.wrapping_sub(id);
            if behind > 0 && behind <= 0x8000_0000 {
                self.push_ack(id);
                return Received::Duplicate;
            }
            return Received::OutOfWindow;
        }
        self.push_ack(id);
        if self.recv.iter().any(|(i, _, _)| *i == id) {
            return Received::Duplicate;
        }
        self.recv.push((id, opcode, payload.to_vec()));
        Received::New
    }

    /// Next in-order message, if any.
    pub fn pop_ready(&mut self) -> Option<(Opcode, Vec<u8>)> {
        let pos = self
            .recv
            .iter()
            .position(|(i, _, _)| *i == self.next_recv_id)?;
        let (_, op, p) = self.recv.swap_remove(pos);
        self.next_recv_id = self.next_recv_id.wrapping_add(1);
        Some((op, p))
    }

    fn push_ack(&mut self, id: u32) {
        if self.acks.contains(&id) {
            return;
        }
        if self.acks.len() >= self.cfg.max_pending_acks {
            self.acks.pop_front();
        }
        self.acks.push_back(id);
    }

    /// Whether acks are waiting.
    pub fn has_pending_acks(&self) -> bool {
        !self.acks.is_empty()
    }

    /// Take up to [`MAX_ACKS`] pending acks for a packet, topped up with up to four
    /// recently sent ones (repeating an ack is harmless; it helps when the packet that
    /// carried it was lost).
    pub fn take_acks(&mut self) -> AckList {
        let mut l = AckList::new();
        while l.len() < MAX_ACKS {
            match self.acks.pop_front() {
                Some(id) => {
                    l.push(id);
                    self.recent_acks.retain(|r| *r != id);
                    if self.recent_acks.len() >= RECENT_ACKS {
                        self.recent_acks.pop_front();
                    }
                    self.recent_acks.push_back(id);
                }
                None => break,
            }
        }
        for id in self.recent_acks.iter().rev() {
            if l.len() >= MAX_ACKS {
                break;
            }
            if !l.as_slice().contains(id) {
                l.push(*id);
            }
        }
        l
    }

    /// The next message due for (re)transmission at `now`, marking it sent. Only the first
    /// `window` queued messages are eligible.
    pub fn poll_send(&mut self, now: Instant) -> Option<Outbound<'_>> {
        let window = self.cfg.window;
        let max_rto = self.cfg.max_rto;
        let idx = self
            .send
            .iter()
            .take(window)
            .position(|o| o.deadline.is_none_or(|d| d <= now))?;
        let o = self.send.get_mut(idx)?;
        let retransmit = o.deadline.is_some();
        if retransmit {
            o.rto = (o.rto * 2).min(max_rto);
            self.retransmits += 1;
        }
        o.deadline = Some(now + o.rto);
        o.sends += 1;
        Some(Outbound {
            opcode: o.opcode,
            message_id: o.id,
            payload: &o.payload,
            retransmit,
        })
    }

    /// Earliest retransmission deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.send
            .iter()
            .take(self.cfg.window)
            .filter_map(|o| o.deadline)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_delivery_with_reordering_and_duplicates() {
        let mut r = Reliable::new(ReliableConfig::default());
        assert_eq!(r.receive(1, Opcode::ControlV1, b"b"), Received::New);
        assert_eq!(r.pop_ready(), None);
        assert_eq!(r.receive(0, Opcode::ControlV1, b"a"), Received::New);
        assert_eq!(r.receive(0, Opcode::ControlV1, b"a"), Received::Duplicate);
        assert_eq!(r.pop_ready().unwrap().1, b"a");
        assert_eq!(r.pop_ready().unwrap().1, b"b");
        assert_eq!(r.pop_ready(), None);
        assert_eq!(r.receive(0, Opcode::ControlV1, b"a"), Received::Duplicate);
        assert_eq!(
            r.receive(100, Opcode::ControlV1, b"z"),
            Received::OutOfWindow
        );
        assert_eq!(r.take_acks().as_slice(), &[1, 0]);
    }

    #[test]
    fn retransmit_backoff_and_window() {
        let t0 = Instant::now();
        let cfg = ReliableConfig {
            window: 2,
            ..Default::default()
        };
        let mut r = Reliable::new(cfg);
        for i in 0..3u8 {
            r.queue(Opcode::ControlV1, vec![i]);
        }
        assert_eq!(r.poll_send(t0).unwrap().message_id, 0);
        assert_eq!(r.poll_send(t0).unwrap().message_id, 1);
        assert!(r.poll_send(t0).is_none(), "window of 2 is full");
        assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_secs(2)));
        let t1 = t0 + Duration::from_secs(2);
        let o = r.poll_send(t1).unwrap();
        assert!(o.retransmit);
        assert_eq!(o.message_id, 0);
        r.on_acks(&[1]);
        assert_eq!(r.poll_send(t1).unwrap().message_id, 2);
        assert_eq!(r.poll_timeout(), Some(t1 + Duration::from_secs(2)));
        r.on_acks(&[2]);
        // Doubled: id 0 is next due 4 s after its first retransmission.
        assert_eq!(r.poll_timeout(), Some(t1 + Duration::from_secs(4)));
        r.on_acks(&[0]);
        assert_eq!(r.unacked(), 0);
        assert_eq!(r.poll_timeout(), None);
        assert_eq!(r.retransmits(), 1);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
    #[test]
        fn reliable_survives_arbitrary_input(ops in proptest::collection::vec((any::<u32>(), any::<bool>()), 0..200)) {
            let mut r = Reliable::new(ReliableConfig::default());
            let mut delivered = 0u32;
            for (id, ack) in ops {
                if ack {
                    r.on_acks(&[id]);
                } else {
                    let _ = r.receive(id % 20, Opcode::ControlV1, &[1]);
                }
                while r.pop_ready().is_some() {
                    delivered += 1;
                }
                let _ = r.take_acks();
            }
            prop_assert!(delivered <= 20);
        }
    }
}
