#![no_main]
//! Host input path (client): records drive a `ppp::host::Client`: transport up / down, a PPP
//! frame, dial / hang-up / demand, time steps; all outputs drained, timers fired.
use fuzz::{step_from, TestRng};
use ppp::host::{Client, ClientEvent};
use ppp::settings::ClientSettings;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let now = fuzz::base_instant();
    let mut s = ClientSettings::l2tp();
    s.user = "a".into();
    s.password = "pw".into();
    s.dial_on_demand = data.first().is_some_and(|b| b & 1 == 1);
    let Ok(mut c) = Client::new(s, now, TestRng(3)) else {
        return;
    };
    let mut t = now;
    let mut rest = data;
    while let [op, arg, tail @ ..] = rest {
        rest = tail;
        match op % 7 {
            0 => {
                let _ = c.lower_up(t);
            }
            1 => c.lower_down(t),
            2 => {
                let n = usize::from(*arg).min(rest.len());
                let (frame, next) = rest.split_at(n);
                rest = next;
                let _ = c.handle_frame(t, frame);
            }
            3 => c.dial(t),
            4 => c.hang_up(t),
            5 => c.demand(t),
            _ => t += step_from([*arg, op >> 3]),
        }
        while c.poll_transmit(t).is_some() {}
        while let Some(e) = c.poll_event() {
            if matches!(e, ClientEvent::Dial) && arg & 1 == 1 {
                let _ = c.lower_up(t);
            }
        }
        if c.poll_timeout().is_some_and(|d| d <= t) {
            c.handle_timeout(t);
        }
    }
});
