//! The RFC 1661 option-negotiation automaton (s4), shared by LCP and every NCP.
//!
//! The automaton is a pure table: [`transition`] maps (state, event) to the actions to take and
//! the next state, exactly as printed in RFC 1661 s4.1. [`Fsm`] adds the restart timer and the
//! counters (s4.6) and turns timer expiry into TO+ / TO-. What the actions *mean* for a given
//! protocol (which options a Configure-Request carries, how a request is judged) lives in the
//! protocol layer that owns the `Fsm` (see `crate::cp`).
//!
//! ```text
//!                 Open/Up        RCA          RCR+ (sca)
//!   Initial/Closed ----> Req-Sent ----> Ack-Rcvd ----> Opened
//!                         |   ^                          ^
//!                   RCR+  |   | TO+ (scr)                |
//!                  (sca)  v   |          RCA (tlu)       |
//!                        Ack-Sent -----------------------+
//!   Opened --Close--> Closing --RTA/TO---> Closed       Opened --RTR--> Stopping --> Stopped
//! ```

use std::time::{Duration, Instant};

/// The ten automaton states (RFC 1661 s4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// 0: lower layer down, no Open.
    Initial,
    /// 1: Open issued, lower layer still down.
    Starting,
    /// 2: lower layer up, no Open.
    Closed,
    /// 3: waiting passively after termination or failure.
    Stopped,
    /// 4: Terminate-Request sent after Close.
    Closing,
    /// 5: Terminate-Request sent or received, will become Stopped.
    Stopping,
    /// 6: Configure-Request sent.
    ReqSent,
    /// 7: Configure-Request sent and Ack received.
    AckRcvd,
    /// 8: Configure-Request sent and Ack sent.
    AckSent,
    /// 9: both directions acknowledged.
    Opened,
}

impl State {
    /// All states in RFC order (index = RFC state number).
    pub const ALL: [State; 10] = [
        State::Initial,
        State::Starting,
        State::Closed,
        State::Stopped,
        State::Closing,
        State::Stopping,
        State::ReqSent,
        State::AckRcvd,
        State::AckSent,
        State::Opened,
    ];

    /// RFC 1661 state number 0..=9.
    pub fn number(self) -> usize {
        self as usize
    }

    /// True in the states where the restart timer runs (s4.6).
    pub fn timer_runs(self) -> bool {
        matches!(
            self,
            State::Closing | State::Stopping | State::ReqSent | State::AckRcvd | State::AckSent
        )
    }
}

/// Automaton events (RFC 1661 s4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Event {
    /// Lower layer is Up.
    Up,
    /// Lower layer is Down.
    Down,
    /// Administrative Open.
    Open,
    /// Administrative Close.
    Close,
    /// Timeout with counter > 0.
    ToPlus,
    /// Timeout with counter expired.
    ToMinus,
    /// Receive-Configure-Request (good).
    RcrPlus,
    /// Receive-Configure-Request (bad: Nak or Reject sent).
    RcrMinus,
    /// Receive-Configure-Ack.
    Rca,
    /// Receive-Configure-Nak/Rej.
    Rcn,
    /// Receive-Terminate-Request.
    Rtr,
    /// Receive-Terminate-Ack.
    Rta,
    /// Receive-Unknown-Code.
    Ruc,
    /// Receive-Code-Reject/Protocol-Reject (permitted).
    RxjPlus,
    /// Receive-Code-Reject/Protocol-Reject (catastrophic).
    RxjMinus,
    /// Receive-Echo-Request, Echo-Reply or Discard-Request.
    Rxr,
}

impl Event {
    /// All events in RFC table order.
    pub const ALL: [Event; 16] = [
        Event::Up,
        Event::Down,
        Event::Open,
        Event::Close,
        Event::ToPlus,
        Event::ToMinus,
        Event::RcrPlus,
        Event::RcrMinus,
        Event::Rca,
        Event::Rcn,
        Event::Rtr,
        Event::Rta,
        Event::Ruc,
        Event::RxjPlus,
        Event::RxjMinus,
        Event::Rxr,
    ];
}

/// Automaton actions (RFC 1661 s4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// This-Layer-Up.
    Tlu,
    /// This-Layer-Down.
    Tld,
    /// This-Layer-Started.
    Tls,
    /// This-Layer-Finished.
    Tlf,
    /// Initialize-Restart-Count.
    Irc,
    /// Zero-Restart-Count.
    Zrc,
    /// Send-Configure-Request.
    Scr,
    /// Send-Configure-Ack.
    Sca,
    /// Send-Configure-Nak/Rej.
    Scn,
    /// Send-Terminate-Request.
    Str,
    /// Send-Terminate-Ack.
    Sta,
    /// Send-Code-Reject.
    Scj,
    /// Send-Echo-Reply.
    Ser,
}

/// One cell of the state table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// Actions in order.
    pub actions: &'static [Action],
    /// Next state.
    pub next: State,
}

const fn t(actions: &'static [Action], next: State) -> Option<Transition> {
    Some(Transition { actions, next })
}

/// The RFC 1661 s4.1 state table. `None` is an illegal event for the state ("-" in the RFC),
/// which an implementation logs and ignores. The restart option ("r") and passive option ("p")
/// are not applied (this crate does not implement those options).
pub fn transition(state: State, event: Event) -> Option<Transition> {
    use Action::*;
    use Event as E;
    use State::*;
    match (state, event) {
        // Up
        (Initial, E::Up) => t(&[], Closed),
        (Starting, E::Up) => t(&[Irc, Scr], ReqSent),
        (_, E::Up) => None,
        // Down
        (Initial | Starting, E::Down) => None,
        (Closed, E::Down) => t(&[], Initial),
        (Stopped, E::Down) => t(&[Tls], Starting),
        (Closing, E::Down) => t(&[], Initial),
        (Stopping | ReqSent | AckRcvd | AckSent, E::Down) => t(&[], Starting),
        (Opened, E::Down) => t(&[Tld], Starting),
        // Open
        (Initial, E::Open) => t(&[Tls], Starting),
        (Starting, E::Open) => t(&[], Starting),
        (Closed, E::Open) => t(&[Irc, Scr], ReqSent),
        (Stopped, E::Open) => t(&[], Stopped),
        (Closing | Stopping, E::Open) => t(&[], Stopping),
        (ReqSent | AckRcvd | AckSent | Opened, E::Open) => t(&[], state),
        // Close
        (Initial, E::Close) => t(&[], Initial),
        (Starting, E::Close) => t(&[Tlf], Initial),
        (Closed | Stopped, E::Close) => t(&[], Closed),
        (Closing | Stopping, E::Close) => t(&[], Closing),
        (ReqSent | AckRcvd | AckSent, E::Close) => t(&[Irc, Str], Closing),
        (Opened, E::Close) => t(&[Tld, Irc, Str], Closing),
        // TO+
        (Closing | Stopping, E::ToPlus) => t(&[Str], state),
        (ReqSent | AckRcvd, E::ToPlus) => t(&[Scr], ReqSent),
        (AckSent, E::ToPlus) => t(&[Scr], AckSent),
        (_, E::ToPlus) => None,
        // TO-
        (Closing, E::ToMinus) => t(&[Tlf], Closed),
        (Stopping | ReqSent | AckRcvd | AckSent, E::ToMinus) => t(&[Tlf], Stopped),
        (_, E::ToMinus) => None,
        // RCR+
        (Initial | Starting, E::RcrPlus | E::RcrMinus | E::Rca | E::Rcn | E::Rtr | E::Rta) => None,
        (Closed, E::RcrPlus | E::RcrMinus | E::Rca | E::Rcn | E::Rtr) => t(&[Sta], Closed),
        (Stopped, E::RcrPlus) => t(&[Irc, Scr, Sca], AckSent),
        (Closing | Stopping, E::RcrPlus | E::RcrMinus | E::Rca | E::Rcn) => t(&[], state),
        (ReqSent | AckSent, E::RcrPlus) => t(&[Sca], AckSent),
        (AckRcvd, E::RcrPlus) => t(&[Sca, Tlu], Opened),
        (Opened, E::RcrPlus) => t(&[Tld, Scr, Sca], AckSent),
        // RCR-
        (Stopped, E::RcrMinus) => t(&[Irc, Scr, Scn], ReqSent),
        (ReqSent | AckSent, E::RcrMinus) => t(&[Scn], ReqSent),
        (AckRcvd, E::RcrMinus) => t(&[Scn], AckRcvd),
        (Opened, E::RcrMinus) => t(&[Tld, Scr, Scn], ReqSent),
        // RCA
        (Stopped, E::Rca | E::Rcn | E::Rtr) => t(&[Sta], Stopped),
        (ReqSent, E::Rca) => t(&[Irc], AckRcvd),
        (AckRcvd, E::Rca) => t(&[Scr], ReqSent),
        (AckSent, E::Rca) => t(&[Irc, Tlu], Opened),
        (Opened, E::Rca) => t(&[Tld, Scr], ReqSent),
        // RCN
        (ReqSent, E::Rcn) => t(&[Irc, Scr], ReqSent),
        (AckRcvd, E::Rcn) => t(&[Scr], ReqSent),
        (AckSent, E::Rcn) => t(&[Irc, Scr], AckSent),
        (Opened, E::Rcn) => t(&[Tld, Scr], ReqSent),
        // RTR
        (Closing | Stopping, E::Rtr) => t(&[Sta], state),
        (ReqSent | AckRcvd | AckSent, E::Rtr) => t(&[Sta], ReqSent),
        (Opened, E::Rtr) => t(&[Tld, Zrc, Sta], Stopping),
        // RTA
        (Closed | Stopped, E::Rta) => t(&[], state),
        (Closing, E::Rta) => t(&[Tlf], Closed),
        (Stopping, E::Rta) => t(&[Tlf], Stopped),
        (ReqSent | AckRcvd, E::Rta) => t(&[], ReqSent),
        (AckSent, E::Rta) => t(&[], AckSent),
        (Opened, E::Rta) => t(&[Tld, Scr], ReqSent),
        // RUC
        (Initial | Starting, E::Ruc | E::RxjPlus | E::RxjMinus | E::Rxr) => None,
        (_, E::Ruc) => t(&[Scj], state),
        // RXJ+
        (ReqSent | AckRcvd, E::RxjPlus) => t(&[], ReqSent),
        (_, E::RxjPlus) => t(&[], state),
        // RXJ-
        (Closed | Closing, E::RxjMinus) => t(&[Tlf], Closed),
        (Stopped | Stopping | ReqSent | AckRcvd | AckSent, E::RxjMinus) => t(&[Tlf], Stopped),
        (Opened, E::RxjMinus) => t(&[Tld, Irc, Str], Stopping),
        // RXR
        (Opened, E::Rxr) => t(&[Ser], Opened),
        (_, E::Rxr) => t(&[], state),
    }
}

/// Restart timer and counter limits (RFC 1661 s4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// Restart timer period (RFC default 3 s).
    pub restart: Duration,
    /// Max-Terminate (RFC default 2).
    pub max_terminate: u32,
    /// Max-Configure (RFC default 10).
    pub max_configure: u32,
    /// Max-Failure (RFC default 5): Naks sent before options are rejected instead.
    pub max_failure: u32,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            restart: Duration::from_secs(3),
            max_terminate: 2,
            max_configure: 10,
            max_failure: 5,
        }
    }
}

/// The automaton with its restart timer and counters.
///
/// [`Fsm::event`] applies the table, updates the counter and timer, and returns the actions the
/// protocol layer must carry out (the counter actions `irc`/`zrc` are handled here and returned
/// for information only).
#[derive(Debug, Clone)]
pub struct Fsm {
    state: State,
    timers: Timers,
    restart_count: u32,
    deadline: Option<Instant>,
    /// Configure-Naks sent since the last Configure-Ack we sent or the start of this
    /// negotiation (Max-Failure accounting, RFC 1661 s4.6). Configure-Rejects do not count.
    pub failures: u32,
    /// Illegal events received (logged and ignored).
    pub illegal_events: u64,
    /// The `scn` of the next event is a Configure-Nak ([`Fsm::nak_sent`]).
    nak_pending: bool,
}

impl Fsm {
    /// A new automaton in the Initial state.
    pub fn new(timers: Timers) -> Self {
        Fsm {
            state: State::Initial,
            timers,
            restart_count: 0,
            deadline: None,
            failures: 0,
            illegal_events: 0,
            nak_pending: false,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The restart counter.
    pub fn restart_count(&self) -> u32 {
        self.restart_count
    }

    /// The timer limits.
    pub fn timers(&self) -> &Timers {
        &self.timers
    }

    /// The restart timer deadline, if running.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Force a state (used for proxy LCP, where a LAC already negotiated the link).
    pub fn force_state(&mut self, state: State) {
        self.state = state;
        self.deadline = None;
    }

    /// Apply an event at `now`. Returns the actions taken (empty for an illegal event).
    pub fn event(&mut self, now: Instant, event: Event) -> &'static [Action] {
        let Some(tr) = transition(self.state, event) else {
            self.nak_pending = false;
            self.illegal_events += 1;
            return &[];
        };
        let mut sends_terminate = tr.actions.contains(&Action::Str);
        let fresh = matches!(
            self.state,
            State::Initial | State::Starting | State::Closed | State::Stopped
        );
        for (i, a) in tr.actions.iter().enumerate() {
            match a {
                Action::Irc => {
                    let next_is_str = tr
                        .actions
                        .get(i + 1..)
                        .is_some_and(|r| r.contains(&Action::Str));
                    self.restart_count = if next_is_str {
                        self.timers.max_terminate
                    } else {
                        self.timers.max_configure
                    };
                    if fresh {
                        // A new negotiation starts: the failure counter starts over.
                        self.failures = 0;
                    }
                }
                Action::Zrc => {
                    self.restart_count = 0;
                    sends_terminate = true;
                }
                Action::Scr | Action::Str => {
                    self.restart_count = self.restart_count.saturating_sub(1);
                }
                // RFC 1661 s4.6: Max-Failure counts Configure-Naks sent *without sending a
                // Configure-Ack*: an Ack starts the count over. Which of Nak or Reject an `scn`
                // is, only the protocol layer knows: it calls [`Fsm::nak_sent`].
                Action::Sca => self.failures = 0,
                Action::Scn if self.nak_pending => {
                    self.failures = self.failures.saturating_add(1);
                }
                _ => {}
            }
        }
        self.nak_pending = false;
        let sends_request = tr.actions.contains(&Action::Scr);
        self.state = tr.next;
        if !self.state.timer_runs() {
            self.deadline = None;
        } else if sends_request || sends_terminate || self.deadline.is_none() {
            self.deadline = Some(now + self.timers.restart);
        }
        tr.actions
    }

    /// If the restart timer expired at `now`, apply TO+ or TO- and return the actions.
    pub fn handle_timeout(&mut self, now: Instant) -> Option<(Event, &'static [Action])> {
        let d = self.deadline?;
        if now < d {
            return None;
        }
        self.deadline = None;
        let ev = if self.restart_count > 0 {
            Event::ToPlus
        } else {
            Event::ToMinus
        };
        Some((ev, self.event(now, ev)))
    }

    /// The protocol layer is about to send a Configure-Nak (not a Configure-Reject) for the
    /// `scn` of the next [`Fsm::event`]: count it towards Max-Failure.
    pub fn nak_sent(&mut self) {
        self.nak_pending = true;
    }

    /// True when the next Configure-Nak should become a Configure-Reject (Max-Failure reached).
    pub fn failure_exceeded(&self) -> bool {
        self.failures >= self.timers.max_failure
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use Event as E;
    use State::*;

    /// The RFC 1661 s4.1 table transcribed independently as text, row = event, column = state.
    /// "-" is illegal; "r", "p" and "x" suffixes are dropped (options, not transitions).
    const RFC_TABLE: &str = "
Up    | 2 | irc,scr/6 | - | - | - | - | - | - | - | -
Down  | - | - | 0 | tls/1 | 0 | 1 | 1 | 1 | 1 | tld/1
Open  | tls/1 | 1 | irc,scr/6 | 3 | 5 | 5 | 6 | 7 | 8 | 9
Close | 0 | tlf/0 | 2 | 2 | 4 | 4 | irc,str/4 | irc,str/4 | irc,str/4 | tld,irc,str/4
TO+   | - | - | - | - | str/4 | str/5 | scr/6 | scr/6 | scr/8 | -
TO-   | - | - | - | - | tlf/2 | tlf/3 | tlf/3 | tlf/3 | tlf/3 | -
RCR+  | - | - | sta/2 | irc,scr,sca/8 | 4 | 5 | sca/8 | sca,tlu/9 | sca/8 | tld,scr,sca/8
RCR-  | - | - | sta/2 | irc,scr,scn/6 | 4 | 5 | scn/6 | scn/7 | scn/6 | tld,scr,scn/6
RCA   | - | - | sta/2 | sta/3 | 4 | 5 | irc/7 | scr/6 | irc,tlu/9 | tld,scr/6
RCN   | - | - | sta/2 | sta/3 | 4 | 5 | irc,scr/6 | scr/6 | irc,scr/8 | tld,scr/6
RTR   | - | - | sta/2 | sta/3 | sta/4 | sta/5 | sta/6 | sta/6 | sta/6 | tld,zrc,sta/5
RTA   | - | - | 2 | 3 | tlf/2 | tlf/3 | 6 | 6 | 8 | tld,scr/6
RUC   | - | - | scj/2 | scj/3 | scj/4 | scj/5 | scj/6 | scj/7 | scj/8 | scj/9
RXJ+  | - | - | 2 | 3 | 4 | 5 | 6 | 6 | 8 | 9
RXJ-  | - | - | tlf/2 | tlf/3 | tlf/2 | tlf/3 | tlf/3 | tlf/3 | tlf/3 | tld,irc,str/5
RXR   | - | - | 2 | 3 | 4 | 5 | 6 | 7 | 8 | ser/9
";

    fn action(s: &str) -> Action {
        match s {
            "tlu" => Tlu,
            "tld" => Tld,
            "tls" => Tls,
            "tlf" => Tlf,
            "irc" => Irc,
            "zrc" => Zrc,
            "scr" => Scr,
            "sca" => Sca,
            "scn" => Scn,
            "str" => Str,
            "sta" => Sta,
            "scj" => Scj,
            "ser" => Ser,
            other => panic!("unknown action {other}"),
        }
    }

    #[test]
    fn every_cell_matches_rfc1661_table() {
        let mut cells = 0;
        for (row, line) in RFC_TABLE
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
        {
            let ev = Event::ALL[row];
            let cols: Vec<&str> = line.split('|').map(str::trim).collect();
            assert_eq!(cols.len(), 11, "row {line}");
            for (si, cell) in cols[1..].iter().enumerate() {
                let st = State::ALL[si];
                let got = transition(st, ev);
                if *cell == "-" {
                    assert_eq!(got, None, "{st:?} x {ev:?}");
                } else {
                    let (acts, next) = match cell.split_once('/') {
                        Some((a, n)) => (a.split(',').map(action).collect::<Vec<_>>(), n),
                        None => (vec![], *cell),
                    };
                    let next: usize = next.parse().unwrap();
                    let got = got.unwrap_or_else(|| panic!("{st:?} x {ev:?} missing"));
                    assert_eq!(got.actions, &acts[..], "{st:?} x {ev:?}");
                    assert_eq!(got.next, State::ALL[next], "{st:?} x {ev:?}");
                }
                cells += 1;
            }
        }
        assert_eq!(cells, 160);
    }

    #[test]
    fn restart_counter_and_timer() {
        let t0 = Instant::now();
        let mut f = Fsm::new(Timers::default());
        f.event(t0, E::Up);
        assert_eq!(f.event(t0, E::Open), &[Irc, Scr]);
        assert_eq!(f.restart_count(), 9);
        assert_eq!(f.deadline(), Some(t0 + Duration::from_secs(3)));
        let mut now = t0;
        let mut scr = 1;
        while let Some(d) = f.deadline() {
            now = d;
            let (ev, acts) = f.handle_timeout(now).unwrap();
            if ev == E::ToPlus {
                assert_eq!(acts, &[Scr]);
                scr += 1;
            } else {
                assert_eq!(acts, &[Tlf]);
            }
        }
        // Max-Configure = 10 requests, then TO- 3 s after the last.
        assert_eq!(scr, 10);
        assert_eq!(now, t0 + Duration::from_secs(30));
        assert_eq!(f.state(), Stopped);
    }

    #[test]
    fn max_failure_counts_naks_only_and_an_ack_resets_it() {
        let t0 = Instant::now();
        let mut f = Fsm::new(Timers::default());
        f.event(t0, E::Up);
        f.event(t0, E::Open);
        // Five Configure-Naks without an Ack: Max-Failure (5) is reached.
        for i in 0..5 {
            assert!(!f.failure_exceeded(), "after {i} naks");
            f.nak_sent();
            f.event(t0, E::RcrMinus);
        }
        assert!(f.failure_exceeded());
        // Sending an Ack starts the count over (RFC 1661 s4.6 "without sending a
        // Configure-Ack").
        f.event(t0, E::RcrPlus);
        assert_eq!(f.failures, 0);
        assert!(!f.failure_exceeded());
        // Configure-Rejects (an `scn` without `nak_sent`) do not count at all.
        for _ in 0..20 {
            f.event(t0, E::RcrMinus);
        }
        assert!(!f.failure_exceeded());
        // A peer's Nak of our request (irc inside a negotiation) does not reset the count.
        for _ in 0..3 {
            f.nak_sent();
            f.event(t0, E::RcrMinus);
        }
        f.event(t0, E::Rcn);
        assert_eq!(f.failures, 3);
    }

    #[test]
    fn terminate_uses_max_terminate() {
        let t0 = Instant::now();
        let mut f = Fsm::new(Timers::default());
        f.event(t0, E::Up);
        f.event(t0, E::Open);
        f.event(t0, E::Rca);
        f.event(t0, E::RcrPlus);
        assert_eq!(f.state(), Opened);
        assert_eq!(f.deadline(), None);
        f.event(t0, E::Close);
        assert_eq!(f.restart_count(), 1);
        let (ev, _) = f.handle_timeout(t0 + Duration::from_secs(3)).unwrap();
        assert_eq!(ev, E::ToPlus);
        let (ev, _) = f.handle_timeout(t0 + Duration::from_secs(6)).unwrap();
        assert_eq!(ev, E::ToMinus);
        assert_eq!(f.state(), Closed);
        // Opened + RTR: zrc starts one restart period in Stopping.
        let mut g = Fsm::new(Timers::default());
        g.event(t0, E::Up);
        g.event(t0, E::Open);
        g.event(t0, E::Rca);
        g.event(t0, E::RcrPlus);
        g.event(t0, E::Rtr);
        assert_eq!(g.state(), Stopping);
        assert_eq!(g.deadline(), Some(t0 + Duration::from_secs(3)));
        assert_eq!(
            g.handle_timeout(t0 + Duration::from_secs(3)).unwrap().0,
            E::ToMinus
        );
        assert_eq!(g.state(), Stopped);
    }
}
